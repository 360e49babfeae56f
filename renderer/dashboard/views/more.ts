/**
 * Every view but Home, in a script of its own (App.tsx loads it with React.lazy): the first
 * render (Home) compiles and runs none of it, and it is fetched once Home is shown, before a
 * click asks for it.
 */
export { Earnings } from './Earnings.js';
export { Gpus } from './Gpus.js';
export { Settings } from './Settings.js';
export { Wallet } from './Wallet.js';
export { Why } from './Why.js';
