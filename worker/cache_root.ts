/** Where a worker keeps its work dirs when `cache_dir` is not set. */

/** `<cache_dir>`, default `$XDG_CACHE_HOME/mitosis/worker` (`~/.cache/mitosis/worker`). */
export function cacheRoot(config: { cache_dir?: string }, env: Record<string, string>): string {
  if (config.cache_dir !== undefined) return config.cache_dir;
  const cacheHome = env.XDG_CACHE_HOME || `${env.HOME ?? "."}/.cache`;
  return `${cacheHome}/mitosis/worker`;
}
