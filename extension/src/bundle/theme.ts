/**
 * Colours and fonts for hosts without JupyterLab's theme (marimo, VS Code, Colab, a saved HTML
 * file): the view's CSS reads JupyterLab's `--jp-*` properties, so where the page defines none
 * the view gets a light theme of its own (`style/themeless.css`).
 */
import { CSS } from '../view/css';

/** Marks `el` themeless when the page around it has no JupyterLab theme. */
export function themeless(el: HTMLElement): void {
  const probe = el.isConnected ? el : document.body;
  if (!getComputedStyle(probe).getPropertyValue('--jp-layout-color1').trim()) {
    el.classList.add(`${CSS}themeless`);
  }
}
