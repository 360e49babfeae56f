// electron-builder's afterPack hook: flips Electron's fuses in the packaged app's binary, before
// it is signed. Off: running as plain Node (ELECTRON_RUN_AS_NODE), NODE_OPTIONS, --inspect; on:
// the asar's integrity check (macOS and Windows) and loading the app only from that asar.
// build/electron-builder.test.ts flips a copy of a fuse wire with this config and reads it back.
import { join } from 'node:path';
import fuses from '@electron/fuses';

const { flipFuses, FuseV1Options, FuseVersion } = fuses;

/** The fuses of the packaged app. */
export const FUSE_CONFIG = {
  version: FuseVersion.V1,
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  // Cookies are unused; encrypting them costs nothing.
  [FuseV1Options.EnableCookieEncryption]: true,
  // Arm64 macOS binaries need a fresh ad-hoc signature after their bytes change.
  resetAdHocDarwinSignature: true,
};

/** The Electron binary of a packed app (a .app bundle on macOS). */
export function electronBinary(context) {
  const name = context.packager.appInfo.productFilename;
  switch (context.electronPlatformName) {
    case 'darwin':
    case 'mas':
      return join(context.appOutDir, `${name}.app`);
    case 'win32':
      return join(context.appOutDir, `${name}.exe`);
    default:
      return join(context.appOutDir, context.packager.executableName);
  }
}

export default async function afterPack(context) {
  await flipFuses(electronBinary(context), FUSE_CONFIG);
}
