/** What a view gets: where to draw, and a signal that aborts its streams when the page moves on. */
export interface ViewContext {
  main: HTMLElement;
  signal: AbortSignal;
  params: string[];
}
