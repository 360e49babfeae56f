// The folder table of docs/DESIGN.md, as data. The `idleforge/layering` rule enforces it.
// Each folder lists the project folders it may import (and single modules of others, `modules`,
// repo-relative without extension), whether it may use Node built-ins, and which npm packages it
// may (or may never) use.

/** @typedef {{ folders: string[], modules?: string[], node: boolean, packages: 'any' | string[], forbidPackages?: string[], note: string }} Layer */

const UI_PACKAGES = ['react', 'react-dom', 'zustand'];

/** @type {Record<string, Layer>} */
export const LAYERS = {
  protocol: { folders: ['protocol'], node: false, packages: ['zod'], note: 'protocol/ may import zod only' },
  kernels: { folders: ['kernels'], node: false, packages: [], note: 'kernels/ import nothing of the app' },
  jobs: { folders: ['jobs', 'protocol', 'kernels'], node: false, packages: [], note: 'jobs/ may import protocol/ and kernels/ only' },
  lib: { folders: ['lib'], node: true, packages: ['better-sqlite3'], note: 'lib/ holds Node utilities every part shares (the command dispatcher, SQLite, PNG)' },
  worker: {
    folders: ['worker', 'protocol', 'kernels', 'jobs', 'lib'],
    node: true,
    packages: 'any',
    forbidPackages: ['electron', ...UI_PACKAGES],
    note: 'worker/ may import protocol/, kernels/, jobs/, lib/ and Node libraries, never electron, react or renderer/',
  },
  hub: {
    folders: ['hub', 'protocol', 'kernels', 'jobs', 'lib'],
    node: true,
    packages: 'any',
    forbidPackages: ['electron', ...UI_PACKAGES],
    note: 'hub/ may import protocol/, kernels/, jobs/ and lib/',
  },
  electron: {
    folders: ['electron', 'worker', 'protocol', 'lib', 'bench/app'],
    node: true,
    packages: 'any',
    forbidPackages: UI_PACKAGES,
    note: 'electron/ may import worker/, protocol/, bench/app/ and electron',
  },
  'renderer/compute': {
    folders: ['renderer/compute', 'protocol', 'kernels', 'jobs'],
    node: false,
    packages: 'any',
    forbidPackages: ['electron'],
    note: 'renderer/compute may import protocol/, kernels/ and jobs/, never Node built-ins or electron',
  },
  renderer: {
    folders: ['renderer', 'protocol'],
    node: false,
    packages: 'any',
    forbidPackages: ['electron'],
    note: 'renderer/ may import protocol/ (and kernels/, jobs/ in compute/ only), never Node built-ins, electron, worker/ or hub/',
  },
  cli: {
    folders: ['cli', 'protocol', 'worker', 'hub', 'bench', 'lib'],
    node: true,
    packages: 'any',
    forbidPackages: ['electron', ...UI_PACKAGES],
    note: 'cli/ gathers the commands of worker/, hub/ and bench/',
  },
  'bench/app': {
    folders: ['bench/app'],
    node: false,
    packages: [],
    note: 'bench/app/ runs inside the desktop app (electron/ imports it), so it imports nothing of the app',
  },
  bench: {
    folders: ['bench', 'worker', 'hub', 'protocol', 'kernels', 'jobs', 'lib'],
    modules: ['cli/desktop'],
    node: true,
    packages: 'any',
    forbidPackages: ['electron', ...UI_PACKAGES],
    note: 'bench/ may import worker/, hub/, protocol/, kernels/, jobs/, lib/ and the desktop launcher cli/desktop.ts',
  },
};

/** Folders whose files may import anything (tests, tools, scripts). */
export const UNRESTRICTED = ['test', 'tools', 'scripts', 'bin', 'build', 'assets', 'docs'];
