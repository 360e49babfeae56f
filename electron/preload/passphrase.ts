/**
 * The passphrase window's preload: the page may ask what is wanted, submit a passphrase, or
 * cancel; nothing else. Main checks the sender and the passphrase's length (passphrase.ts).
 */
import { contextBridge, ipcRenderer } from 'electron';
import { PASSPHRASE_BRIDGE_GLOBAL, PASSPHRASE_CHANNELS } from '../channels.js';

contextBridge.exposeInMainWorld(PASSPHRASE_BRIDGE_GLOBAL, {
  request: () => ipcRenderer.invoke(PASSPHRASE_CHANNELS.request, {}),
  submit: (passphrase: unknown) => ipcRenderer.invoke(PASSPHRASE_CHANNELS.submit, { passphrase }),
  cancel: () => ipcRenderer.invoke(PASSPHRASE_CHANNELS.cancel, {}),
});
