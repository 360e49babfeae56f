/**
 * Puts the tray model on screen: the image for the state, the tooltip, the menu; redrawn only
 * when something shown changed. A fatal error (the engine stopped) overrides the model so the
 * tray still says what happened and still quits.
 */
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { EngineStatusView } from '../protocol/index.js';
import { findMenuItem, trayMenuTemplate, type TrayActions } from './tray-menu.js';
import { sameTrayModel, trayImages, trayModel, type TrayImage, type TrayModel } from './tray-model.js';

export interface TrayDeps {
  tray: Pick<Tray, 'setImage' | 'setToolTip' | 'setContextMenu'>;
  buildMenu(template: MenuItemConstructorOptions[]): Menu;
  /** Loads the images (all scale factors) as one NativeImage. */
  image(files: TrayImage[], template: boolean): NativeImage;
  platform: NodeJS.Platform;
  actions: TrayActions;
}

export class TrayController {
  private model: TrayModel | null = null;
  private template: MenuItemConstructorOptions[] = [];
  private fatal: string | null = null;
  private last: EngineStatusView | null = null;

  constructor(private readonly deps: TrayDeps) {
    this.draw(trayModel(null, deps.platform));
  }

  /** Shows a new engine status. */
  show(status: EngineStatusView | null): void {
    this.last = status;
    this.draw(this.current());
  }

  /** The engine stopped for good: the tray says why and offers Quit. */
  fail(message: string): void {
    this.fatal = message;
    this.draw(this.current());
  }

  /** What the tray shows now. */
  get shown(): TrayModel {
    return this.current();
  }

  /** The menu's template as last built (the end-to-end tests read and click it). */
  get menu(): readonly MenuItemConstructorOptions[] {
    return this.template;
  }

  /** Clicks a menu item by id, as the user would; false when there is none. */
  click(id: string): boolean {
    const item = findMenuItem(this.template, id);
    if (!item?.click || item.enabled === false) return false;
    (item.click as () => void)();
    return true;
  }

  private current(): TrayModel {
    const model = trayModel(this.last, this.deps.platform);
    if (!this.fatal) return model;
    const line = `Stopped: ${this.fatal}`;
    return { ...model, state: 'error', ...trayImages('error', this.deps.platform), statusLine: line.slice(0, 60), tooltip: `Idleforge: ${line}`.slice(0, 127) };
  }

  private draw(model: TrayModel): void {
    if (sameTrayModel(this.model, model)) return;
    const before = this.model;
    this.model = model;
    if (!before || before.state !== model.state) this.deps.tray.setImage(this.deps.image(model.images, model.template));
    this.deps.tray.setToolTip(model.tooltip);
    this.template = trayMenuTemplate(model, this.deps.actions);
    this.deps.tray.setContextMenu(this.deps.buildMenu(this.template));
  }
}
