/** One benchmark's result: a table to print and to store in bench-results/latest.json. */
export interface BenchResult {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

export interface BenchOptions {
  /** Fewer and shorter rounds, for a quick look. */
  quick: boolean;
}

/** What every `bench/*.bench.ts` module exports. */
export interface BenchModule {
  run(opts: BenchOptions): Promise<BenchResult | BenchResult[]>;
}
