/** Entry of the compute page's bundle. */
import { installComputePage } from './page.js';

installComputePage((globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
