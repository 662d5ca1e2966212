/**
 * An AbortSignal that the first SIGINT (Ctrl-C) fires, so that a long
 * command can stop between steps and keep its work; a second SIGINT exits at
 * once with status 130. `dispose` removes the handler.
 */
export function interruptSignal(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error('interrupted (SIGINT)'));
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInterrupt) };
}
