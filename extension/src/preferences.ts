/**
 * The user's settings of the graph view as they stand, shared by every host (notebook output,
 * file viewer, widget). `settings.ts` keeps them in step with JupyterLab's settings registry;
 * the views read them through functions: `wheel` and `edgeLabels` apply to views already open
 * (at the next wheel event, at the next drawing), `direction` to views opened after the change.
 *
 * The values live on one object of the page (under a registered symbol), not in this module:
 * the widget's front end is a separate bundle (`bundle/`) with its own copy of this module,
 * and in JupyterLab it follows the extension's settings through that object.
 */
import type { LayoutDirection, WheelMode } from './view';

interface IPreferences {
  wheel: WheelMode;
  direction: LayoutDirection;
  edgeLabels: boolean;
}

const KEY: unique symbol = Symbol.for('onnx-workbench.preferences');
const page = globalThis as unknown as { [KEY]?: IPreferences };
const preferences: IPreferences = (page[KEY] ??= {
  wheel: 'pan',
  direction: 'TB',
  edgeLabels: true
});

/** What the mouse wheel does in graph views now (the `wheel` setting). */
export function wheelMode(): WheelMode {
  return preferences.wheel;
}

/** Sets what the mouse wheel does; anything but `zoom` means `pan`. */
export function setWheelMode(value: unknown): void {
  preferences.wheel = value === 'zoom' ? 'zoom' : 'pan';
}

/** Which way new graph views lay the graph out (the `direction` setting). */
export function layoutDirection(): LayoutDirection {
  return preferences.direction;
}

/** Sets the layout direction of new views; anything but `LR` means `TB` (top to bottom). */
export function setLayoutDirection(value: unknown): void {
  preferences.direction = value === 'LR' ? 'LR' : 'TB';
}

/** Whether graph views draw edge labels (the `edgeLabels` setting). */
export function showEdgeLabels(): boolean {
  return preferences.edgeLabels;
}

/** Sets whether graph views draw edge labels; anything but `false` means they do. */
export function setShowEdgeLabels(value: unknown): void {
  preferences.edgeLabels = value !== false;
}

/** The viewer options every host passes: the settings, read when they are needed. */
export function viewerSettings(): {
  wheel: () => WheelMode;
  direction: () => LayoutDirection;
  edgeLabels: () => boolean;
} {
  return { wheel: wheelMode, direction: layoutDirection, edgeLabels: showEdgeLabels };
}
