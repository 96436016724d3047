/**
 * The view as a file: the drawing as a standalone SVG document, its styles inlined so that
 * it looks the same outside JupyterLab (theme colours resolved), or a PNG rendered from it.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';
/** The computed styles that make the drawing look as it does on screen. */
const STYLE_PROPERTIES = [
  'display',
  'visibility',
  'opacity',
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-linejoin',
  'paint-order',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline'
];
/** Room (px) around the drawing in the file. */
const MARGIN = 16;
/** The largest side (px) of a PNG: browsers refuse larger canvases. */
const MAX_PNG_SIDE = 16384;

/** Copies each element's computed style into a `style` attribute of its copy. */
function inlineStyles(source: Element, copy: Element): void {
  const computed = getComputedStyle(source);
  copy.setAttribute(
    'style',
    STYLE_PROPERTIES.map(name => `${name}:${computed.getPropertyValue(name)}`).join(';')
  );
  copy.removeAttribute('class');
  const children = source.children;
  for (let i = 0; i < children.length; i++) {
    inlineStyles(children[i], copy.children[i]);
  }
}

/**
 * The drawing (`root`, in drawing coordinates, `width` × `height`) as a standalone SVG
 * document on a `background` colour. Model strings stay text nodes: the serializer escapes them.
 */
export function standaloneSvg(
  root: SVGGElement,
  width: number,
  height: number,
  background: string
): string {
  const copy = root.cloneNode(true) as SVGGElement;
  inlineStyles(root, copy);
  copy.removeAttribute('transform');
  const { width: w, height: h } = fileSize(width, height);
  const doc = document.createElementNS(SVG_NS, 'svg');
  doc.setAttribute('xmlns', SVG_NS);
  doc.setAttribute('width', String(w));
  doc.setAttribute('height', String(h));
  doc.setAttribute('viewBox', `${-MARGIN} ${-MARGIN} ${w} ${h}`);
  const fill = document.createElementNS(SVG_NS, 'rect');
  for (const [name, value] of [
    ['x', -MARGIN],
    ['y', -MARGIN],
    ['width', w],
    ['height', h]
  ] as const) {
    fill.setAttribute(name, String(value));
  }
  fill.setAttribute('fill', background);
  doc.append(fill, copy);
  return new XMLSerializer().serializeToString(doc);
}

/** The scale at which a drawing of `width` × `height` renders as a PNG: `wanted`, or less to fit. */
export function pngScale(width: number, height: number, wanted: number): number {
  const size = fileSize(width, height);
  return Math.min(wanted, MAX_PNG_SIDE / Math.max(size.width, size.height, 1));
}

/** Renders a standalone SVG document of `width` × `height` px (margins included) as a PNG. */
export async function svgToPng(
  text: string,
  width: number,
  height: number,
  scale: number
): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () =>
        reject(new Error('the browser could not render the drawing as an image'));
      image.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext('2d');
    if (!context) {
      throw new Error('no 2D canvas in this browser');
    }
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob(
        blob => (blob ? resolve(blob) : reject(new Error('the PNG could not be encoded'))),
        'image/png'
      )
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A file name for the view of a model titled `title`: its safe characters, then `.ext`. */
export function fileName(title: string, ext: string): string {
  const stem = title
    .replace(/\.onnx$/i, '')
    .replace(/[^\w.-]+/g, '_')
    .replace(/^[._]+|_+$/g, '');
  return `${stem || 'graph'}.${ext}`;
}

/** Hands `blob` to the browser as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** The size (px) of the file `standaloneSvg` writes for a drawing of `width` × `height`. */
export function fileSize(width: number, height: number): { width: number; height: number } {
  return { width: Math.ceil(width + 2 * MARGIN), height: Math.ceil(height + 2 * MARGIN) };
}
