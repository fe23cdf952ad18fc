/**
 * A tiny llama-architecture model the tests make themselves: a GGUF v3 file
 * (header, metadata, tensor infos, aligned F32 tensor data) with a
 * character-level SentencePiece vocabulary, a ChatML template and seeded
 * random weights. About half a megabyte, written in milliseconds, and enough
 * for the real node-llama-cpp to load, tokenize and generate.
 *
 * The weights are random but shaped so that generation behaves: the
 * embedding's first dimension is a constant that the small blocks barely
 * change, and the output rows of tokens that must never be generated
 * (unknown, BOS, the ChatML markers, the 256 byte tokens) weigh that
 * dimension strongly negative. So the model writes only printable
 * characters and never ends an answer by itself: a test's token cap
 * decides where it stops.
 */
import { writeFile } from "node:fs/promises";

/** What can be changed; every field has a small default. */
export interface TinyGgufOptions {
  /** Seed of the weights. @defaultValue 1 */
  seed?: number;
  /** `general.name`. @defaultValue "tiny-llama" */
  name?: string;
  /** Width of the residual stream (`llama.embedding_length`). @defaultValue 64 */
  embeddingLength?: number;
  /** Transformer blocks. @defaultValue 2 */
  blockCount?: number;
  /** Hidden width of the feed-forward part. @defaultValue 128 */
  feedForwardLength?: number;
  /** Attention heads. @defaultValue 4 */
  headCount?: number;
  /** Key/value heads (grouped-query attention when fewer than `headCount`). @defaultValue 2 */
  headCountKv?: number;
  /** The context the model says it was trained on, in tokens. @defaultValue 1024 */
  contextLength?: number;
  /** `tokenizer.chat_template`; `null` leaves it out. @defaultValue {@link CHATML_TEMPLATE} */
  chatTemplate?: string | null;
}

/** The usual ChatML template (node-llama-cpp resolves it to its ChatML wrapper). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** SentencePiece's word-boundary mark, which stands for a space. */
const SPACE_MARK = "\u2581";

/** GGUF's token types (`tokenizer.ggml.token_type`). */
const TokenType = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

/** The vocabulary: specials first, then the 256 byte tokens, then the printable characters the model writes. */
export const TINY_SPECIALS = { unk: 0, bos: 1, endOfText: 2, imStart: 3, imEnd: 4 } as const;
const SPECIAL_TEXTS = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"];
/** No `<` or `|`: text that starts like a ChatML marker would be held back by the stop-trigger detection. */
const PRINTABLE = [
  SPACE_MARK,
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;()",
];

export interface TinyVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  /** The first id the model may generate. */
  firstPrintable: number;
}

export function tinyVocab(): TinyVocab {
  const tokens = [...SPECIAL_TEXTS];
  const types: number[] = [TokenType.unknown, TokenType.control, TokenType.control, TokenType.control, TokenType.control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.byte);
  }
  const firstPrintable = tokens.length;
  for (const piece of PRINTABLE) {
    tokens.push(piece);
    types.push(TokenType.normal);
  }
  // Only single characters: no merge ever applies, so every character is one token.
  const scores = tokens.map((_, id) => (id >= firstPrintable ? -(id - firstPrintable) : 0));
  return { tokens, scores, types, firstPrintable };
}

// ---- the file format -------------------------------------------------------

/** `gguf_type` of metadata values. */
const ValueType = { uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10 } as const;
/** `ggml_type` F32. */
const GGML_TYPE_F32 = 0;
/** Tensor data offsets and the data section are aligned to this (`general.alignment`'s default). */
const ALIGNMENT = 32;

type MetaValue =
  | { type: "uint32" | "int32" | "float32" | "uint64"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "strings"; value: string[] }
  | { type: "float32s" | "int32s"; value: number[] };

/** A growable little-endian byte buffer. */
class ByteWriter {
  #buf = Buffer.alloc(1 << 16);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #room(n: number): number {
    if (this.#len + n > this.#buf.length) {
      const bigger = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
      this.#buf.copy(bigger, 0, 0, this.#len);
      this.#buf = bigger;
    }
    const at = this.#len;
    this.#len += n;
    return at;
  }

  // `#room` may swap the buffer: take the offset first, then the buffer.
  u32(v: number): void {
    const at = this.#room(4);
    this.#buf.writeUInt32LE(v, at);
  }
  i32(v: number): void {
    const at = this.#room(4);
    this.#buf.writeInt32LE(v, at);
  }
  u64(v: number): void {
    const at = this.#room(8);
    this.#buf.writeBigUInt64LE(BigInt(v), at);
  }
  f32(v: number): void {
    const at = this.#room(4);
    this.#buf.writeFloatLE(v, at);
  }
  u8(v: number): void {
    const at = this.#room(1);
    this.#buf.writeUInt8(v, at);
  }
  /** `gguf_string`: a uint64 byte length, then UTF-8 without a terminator. */
  str(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.bytes(bytes);
  }
  bytes(data: Uint8Array): void {
    const at = this.#room(data.length);
    this.#buf.set(data, at);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.#len % alignment)) % alignment;
    const at = this.#room(pad);
    this.#buf.fill(0, at, at + pad);
  }
  result(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

function writeValue(w: ByteWriter, v: MetaValue): void {
  switch (v.type) {
    case "uint32":
      w.u32(ValueType.uint32);
      w.u32(v.value);
      return;
    case "int32":
      w.u32(ValueType.int32);
      w.i32(v.value);
      return;
    case "uint64":
      w.u32(ValueType.uint64);
      w.u64(v.value);
      return;
    case "float32":
      w.u32(ValueType.float32);
      w.f32(v.value);
      return;
    case "bool":
      w.u32(ValueType.bool);
      w.u8(v.value ? 1 : 0);
      return;
    case "string":
      w.u32(ValueType.string);
      w.str(v.value);
      return;
    case "strings":
      w.u32(ValueType.array);
      w.u32(ValueType.string);
      w.u64(v.value.length);
      for (const s of v.value) w.str(s);
      return;
    case "float32s":
    case "int32s":
      w.u32(ValueType.array);
      w.u32(v.type === "float32s" ? ValueType.float32 : ValueType.int32);
      w.u64(v.value.length);
      for (const x of v.value) (v.type === "float32s" ? w.f32 : w.i32).call(w, x);
      return;
  }
}

interface Tensor {
  name: string;
  /** ne[0] first: the fastest-changing dimension (a row's length). */
  dims: number[];
  data: Float32Array;
}

/** Serialises a GGUF v3 file: header, metadata, tensor infos, padding, aligned tensor data. */
export function encodeGguf(metadata: Array<[string, MetaValue]>, tensors: Tensor[]): Buffer {
  const w = new ByteWriter();
  w.bytes(Buffer.from("GGUF", "ascii"));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.str(key);
    writeValue(w, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length) throw new Error(`tensor ${t.name}: dims ${t.dims.join("×")} but ${t.data.length} values`);
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((elements * 4) / ALIGNMENT) * ALIGNMENT;
  }
  w.padTo(ALIGNMENT);
  const dataStart = w.length;
  tensors.forEach((t, i) => {
    const at = dataStart + offsets[i]!;
    while (w.length < at) w.u8(0);
    w.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  });
  w.padTo(ALIGNMENT);
  return w.result();
}

// ---- the model -------------------------------------------------------------

/** mulberry32: small, seeded, good enough for weights. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Box–Muller normal samples of standard deviation `std`. */
function normals(next: () => number, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next()) * std;
  }
  return out;
}

function ones(count: number): Float32Array {
  return new Float32Array(count).fill(1);
}

/** Dimension 0 of the residual stream: constant, so the output layer can rule tokens out. */
const BIAS_DIM_VALUE = 1;
/** How strongly the output layer rules out a token that must not be generated. */
const FORBIDDEN_WEIGHT = -30;

/** The whole file, in memory. */
export function tinyGguf(options: TinyGgufOptions = {}): Buffer {
  const nEmbd = options.embeddingLength ?? 64;
  const nBlocks = options.blockCount ?? 2;
  const nFf = options.feedForwardLength ?? 128;
  const nHead = options.headCount ?? 4;
  const nHeadKv = options.headCountKv ?? 2;
  const nCtx = options.contextLength ?? 1024;
  const headDim = nEmbd / nHead;
  if (!Number.isInteger(headDim) || nHead % nHeadKv !== 0) throw new Error("embeddingLength/headCount/headCountKv do not divide");
  const nEmbdKv = headDim * nHeadKv;
  const vocab = tinyVocab();
  const nVocab = vocab.tokens.length;
  const next = random(options.seed ?? 1);

  const embd = normals(next, nVocab * nEmbd, 0.3);
  for (let v = 0; v < nVocab; v++) embd[v * nEmbd] = BIAS_DIM_VALUE;
  const output = normals(next, nVocab * nEmbd, 1);
  for (let v = 0; v < nVocab; v++) {
    if (v >= vocab.firstPrintable) {
      output[v * nEmbd] = 0;
    } else {
      output.fill(0, v * nEmbd, (v + 1) * nEmbd);
      output[v * nEmbd] = FORBIDDEN_WEIGHT;
    }
  }

  const tensors: Tensor[] = [
    { name: "token_embd.weight", dims: [nEmbd, nVocab], data: embd },
    { name: "output_norm.weight", dims: [nEmbd], data: ones(nEmbd) },
    { name: "output.weight", dims: [nEmbd, nVocab], data: output },
  ];
  for (let b = 0; b < nBlocks; b++) {
    const blk = `blk.${b}`;
    // Small writes into the residual stream (attn_output, ffn_down) keep dimension 0 near its constant.
    tensors.push(
      { name: `${blk}.attn_norm.weight`, dims: [nEmbd], data: ones(nEmbd) },
      { name: `${blk}.attn_q.weight`, dims: [nEmbd, nEmbd], data: normals(next, nEmbd * nEmbd, 0.2) },
      { name: `${blk}.attn_k.weight`, dims: [nEmbd, nEmbdKv], data: normals(next, nEmbd * nEmbdKv, 0.2) },
      { name: `${blk}.attn_v.weight`, dims: [nEmbd, nEmbdKv], data: normals(next, nEmbd * nEmbdKv, 0.2) },
      { name: `${blk}.attn_output.weight`, dims: [nEmbd, nEmbd], data: normals(next, nEmbd * nEmbd, 0.02) },
      { name: `${blk}.ffn_norm.weight`, dims: [nEmbd], data: ones(nEmbd) },
      { name: `${blk}.ffn_gate.weight`, dims: [nEmbd, nFf], data: normals(next, nEmbd * nFf, 0.2) },
      { name: `${blk}.ffn_up.weight`, dims: [nEmbd, nFf], data: normals(next, nEmbd * nFf, 0.2) },
      { name: `${blk}.ffn_down.weight`, dims: [nFf, nEmbd], data: normals(next, nFf * nEmbd, 0.02) },
    );
  }

  const metadata: Array<[string, MetaValue]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: options.name ?? "tiny-llama" }],
    ["general.alignment", { type: "uint32", value: ALIGNMENT }],
    ["general.file_type", { type: "uint32", value: 0 }], // all F32
    ["llama.context_length", { type: "uint32", value: nCtx }],
    ["llama.embedding_length", { type: "uint32", value: nEmbd }],
    ["llama.block_count", { type: "uint32", value: nBlocks }],
    ["llama.feed_forward_length", { type: "uint32", value: nFf }],
    ["llama.attention.head_count", { type: "uint32", value: nHead }],
    ["llama.attention.head_count_kv", { type: "uint32", value: nHeadKv }],
    ["llama.rope.dimension_count", { type: "uint32", value: headDim }],
    ["llama.rope.freq_base", { type: "float32", value: 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "float32", value: 1e-5 }],
    ["llama.vocab_size", { type: "uint32", value: nVocab }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "strings", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "float32s", value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "int32s", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: TINY_SPECIALS.unk }],
    ["tokenizer.ggml.bos_token_id", { type: "uint32", value: TINY_SPECIALS.bos }],
    // ChatML models end a turn with <|im_end|>, their end-of-sequence token.
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: TINY_SPECIALS.imEnd }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
  ];
  const template = options.chatTemplate === undefined ? CHATML_TEMPLATE : options.chatTemplate;
  if (template !== null) metadata.push(["tokenizer.chat_template", { type: "string", value: template }]);

  return encodeGguf(metadata, tensors);
}

/** Writes the model to `path`; returns its size in bytes. */
export async function writeTinyGguf(path: string, options: TinyGgufOptions = {}): Promise<number> {
  const bytes = tinyGguf(options);
  await writeFile(path, bytes);
  return bytes.length;
}
