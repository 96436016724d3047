/**
 * The extension's settings in JupyterLab's settings registry (Settings → ONNX Workbench; the
 * schema is `schema/settings.json`), copied into `preferences.ts` where the views read them.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { setLayoutDirection, setShowEdgeLabels, setWheelMode } from './preferences';

const PLUGIN_ID = 'onnx-workbench:settings';

/** Loads the settings and follows their changes; without a registry the defaults stay. */
export const settingsPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The settings of the ONNX Workbench graph view: the mouse wheel, the layout direction, edge labels.',
  autoStart: true,
  optional: [ISettingRegistry],
  activate: (_app, registry: ISettingRegistry | null) => {
    if (!registry) {
      return;
    }
    registry.load(PLUGIN_ID).then(
      settings => {
        const update = () => {
          setWheelMode(settings.get('wheel').composite);
          setLayoutDirection(settings.get('direction').composite);
          setShowEdgeLabels(settings.get('edgeLabels').composite);
        };
        update();
        settings.changed.connect(update);
      },
      (reason: unknown) => console.warn(`${PLUGIN_ID}: settings not loaded, defaults used`, reason)
    );
  }
};
