// One JSON object per line; bigints become numbers when they are safe and
// 0x-strings otherwise, so u64 values survive.

export function jsonLine(o: unknown): string {
  return JSON.stringify(o, (_k, v) => {
    if (typeof v !== 'bigint') return v;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`;
  });
}
