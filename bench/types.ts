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
  /** `--brokers=a,b`: the brokers a benchmark that compares brokers runs (its default when absent). */
  brokers?: string[];
  /** `--scenarios=a,b`: the scenarios to run (all when absent). */
  scenarios?: string[];
}

/** What every `bench/*.bench.ts` module exports. */
export interface BenchModule {
  run(opts: BenchOptions): Promise<BenchResult | BenchResult[]>;
}
