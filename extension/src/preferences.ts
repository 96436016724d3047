/**
 * The user's settings of the graph view as they stand, shared by every host (notebook output,
 * file viewer, widget). `settings.ts` keeps them in step with JupyterLab's settings registry;
 * the views read them through functions, so a change applies to views already open.
 */
import type { WheelMode } from './view';

let wheel: WheelMode = 'pan';

/** What the mouse wheel does in graph views now (the `wheel` setting). */
export function wheelMode(): WheelMode {
  return wheel;
}

/** Sets what the mouse wheel does; anything but `zoom` means `pan`. */
export function setWheelMode(value: unknown): void {
  wheel = value === 'zoom' ? 'zoom' : 'pan';
}
