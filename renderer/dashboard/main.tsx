/**
 * The dashboard's entry, kept small: it finds the engine and asks for its status (boot.ts), then
 * loads the rest (start.tsx, which the page's <link rel="modulepreload"> has been fetching and
 * compiling meanwhile), so the question and the answer travel while the scripts load.
 */
import { startEarly } from './boot.js';
import './styles.css';

const early = startEarly(window);
const container = document.getElementById('root')!;
import('./start.js').then(
  ({ start }) => start(early, container),
  (error: unknown) => {
    // A file of the build is missing (an update half done?): said in words, not a blank page.
    container.textContent = `The dashboard could not load (${error instanceof Error ? error.message : String(error)}). Reload the page, or restart Idleforge.`;
  },
);
