// What `autoencoder demo names` and `autoencoder demo spam` pass to the two real-data examples.
export interface DemoOptions {
  /** A short run. */
  quick?: boolean;
  /** Training epochs, in place of the example's own. */
  epochs?: number;
  /**
   * Moves every seed of the example together: its split, initial weights, shuffles and samples.
   * The default, 1, gives the figures the README quotes.
   */
  seed?: number;
  /** Stops training after the current batch; the example then rejects with the fit's AbortError. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}
