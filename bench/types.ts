/** One section of BENCHMARKS.md, produced by one bench/<area>.ts module. */
export interface BenchSection {
  title: string;
  markdown: string;
}
