/**
 * Colours of the graph view: the op categories that tint node headers, and the
 * sequential scale of overlays.
 */

/** The op categories a node header is tinted by. */
export type OpCategory =
  'compute' | 'normalization' | 'activation' | 'elementwise' | 'shape' | 'control' | 'other';

const EXACT: { [op: string]: OpCategory } = {};
function assign(category: OpCategory, ops: string): void {
  for (const op of ops.split(' ')) {
    EXACT[op] = category;
  }
}
assign(
  'compute',
  'Conv ConvTranspose ConvInteger MatMul MatMulInteger Gemm Einsum Attention ' +
    'MultiHeadAttention QLinearConv QLinearMatMul FusedMatMul LSTM GRU RNN ' +
    'MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool MaxRoiPool'
);
assign(
  'normalization',
  'BatchNormalization LayerNormalization InstanceNormalization GroupNormalization ' +
    'LpNormalization MeanVarianceNormalization SimplifiedLayerNormalization ' +
    'SkipLayerNormalization SkipSimplifiedLayerNormalization RMSNormalization LRN Dropout'
);
assign(
  'activation',
  'Relu LeakyRelu PRelu Elu Selu Celu Gelu FastGelu BiasGelu QuickGelu Sigmoid ' +
    'HardSigmoid HardSwish Swish Mish Tanh Softmax LogSoftmax Softplus Softsign Erf ' +
    'ThresholdedRelu Hardmax'
);
assign(
  'elementwise',
  'Add Sub Mul Div Pow Sqrt Exp Log Neg Abs Reciprocal Max Min Sum Mean Clip Equal ' +
    'Greater GreaterOrEqual Less LessOrEqual Not And Or Xor Where Cast CastLike Floor ' +
    'Ceil Round Sign Mod IsNaN IsInf BitShift Sin Cos ReduceMean ReduceSum ReduceMax ' +
    'ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceSumSquare ReduceLogSumExp ArgMax ArgMin ' +
    'QuantizeLinear DequantizeLinear DynamicQuantizeLinear CumSum'
);
assign(
  'shape',
  'Reshape Transpose Concat Split Slice Gather GatherElements GatherND Scatter ' +
    'ScatterElements ScatterND Squeeze Unsqueeze Flatten Expand Shape Size Tile Pad ' +
    'Identity Constant ConstantOfShape Range DepthToSpace SpaceToDepth Resize Upsample ' +
    'NonZero TopK OneHot Trilu Compress ReverseSequence EyeLike'
);
assign('control', 'If Loop Scan SequenceMap');

const PATTERNS: Array<[RegExp, OpCategory]> = [
  [/Conv|MatMul|Gemm|Attention|Pool/, 'compute'],
  [/Norm/, 'normalization'],
  [/Relu|Gelu|Sigmoid|Tanh|Softmax|Swish|Elu$/, 'activation'],
  [/^Reduce|Quantize/, 'elementwise'],
  [/Sequence|Scatter|Gather|Shape/, 'shape']
];

/** The category of an op type, by name (unknown ops by pattern, else `other`). */
export function opCategory(op: string): OpCategory {
  const exact = EXACT[op];
  if (exact) {
    return exact;
  }
  for (const [pattern, category] of PATTERNS) {
    if (pattern.test(op)) {
      return category;
    }
  }
  return 'other';
}

/** Viridis, sampled at nine evenly spaced points. */
const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37]
];

/** The scale's colour for `t` in [0, 1] as `rgb(...)`. */
export function scaleColor(t: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const position = clamped * (VIRIDIS.length - 1);
  const low = Math.floor(position);
  const high = Math.min(VIRIDIS.length - 1, low + 1);
  const f = position - low;
  const rgb = VIRIDIS[low].map((c, i) => Math.round(c + (VIRIDIS[high][i] - c) * f));
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/** Whether text on the scale's colour for `t` should be dark (the bright end) or light. */
export function scaleTextDark(t: number): boolean {
  return t > 0.55;
}

/** The CSS gradient of the whole scale, for the legend. */
export function scaleGradient(): string {
  const stops = VIRIDIS.map(
    (c, i) => `rgb(${c[0]}, ${c[1]}, ${c[2]}) ${Math.round((100 * i) / (VIRIDIS.length - 1))}%`
  );
  return `linear-gradient(to right, ${stops.join(', ')})`;
}
