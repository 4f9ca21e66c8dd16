/** The p-th percentile (nearest rank) of `values`, in any order: 50 is the median, 99 the tail users feel. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
