/**
 * Small view groups for the unit tests: a main graph with inputs and outputs, nodes, a
 * loaded scope with a reference back out, and a scope that is not loaded.
 */
import { IGroup, Item } from '../view/types';

export function node(id: string, op: string, label = id): Item {
  return { kind: 'node', id: `i:${id}`, node: id, label, op, domain: '' };
}

export function groupItem(group: string, label: string, nodes = 1): Item {
  return { kind: 'group', id: `g:${group}`, group, label, nodes };
}

export function group(
  id: string,
  items: Item[],
  parent: string | null = null,
  path = id,
  edges: IGroup['edges'] = []
): IGroup {
  const label = path.split('/').pop() ?? id;
  return { id, label, kind: 'scope', parent, path, nodes: items.length, items, edges };
}

/**
 * main: x → conv1 (Conv) → [block] → relu_out (Relu) → [head, not loaded] → y
 * block (path "encoder/block"): relu1 (Relu), a ref to relu_out.
 */
export function model(): Map<string, IGroup> {
  const main = group(
    'main',
    [
      { kind: 'input', id: 'in:x', label: 'x', dtype: 'float32', shape: '1×3' },
      node('conv1', 'Conv'),
      groupItem('block', 'block', 2),
      node('relu_out', 'Relu'),
      groupItem('head', 'head', 5),
      { kind: 'output', id: 'out:y', label: 'y', dtype: 'float32', shape: '1×10' }
    ],
    null,
    '',
    [
      [0, 1, 'x'],
      [1, 2, ''],
      [2, 3, ''],
      [3, 4, ''],
      [4, 5, 'y']
    ]
  );
  main.kind = 'graph';
  const block = group(
    'block',
    [node('relu1', 'Relu'), { kind: 'ref', id: 'r:relu_out', node: 'relu_out', label: 'relu_out' }],
    'main',
    'encoder/block',
    [[0, 1, '']]
  );
  return new Map([
    ['main', main],
    ['block', block]
  ]);
}
