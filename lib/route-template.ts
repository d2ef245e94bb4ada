/** Route templates as serverless.yml declares them (`/uploads/{uploadId}`, `/vod-events/{token?}`). */
/**
 * Matches a route template against a path: `{name}` segments become parameters (percent-decoded; a
 * malformed escape matches nothing), a last `{name?}` segment may be absent. By default the template
 * matches the END of the path, because API gateway may prefix a stage or service path; `whole` asks
 * for the whole path (the local gateway serves the templates as they are).
 */
export function matchRoute(
  template: string,
  path: string,
  options: { whole?: boolean } = {},
): Record<string, string> | undefined {
  let want = template.split('/').filter(Boolean);
  const have = path.split('?')[0]!.split('/').filter(Boolean);
  // A trailing `{name?}` segment is optional: match with it first, then without it.
  const optional = /^\{(\w+)\?\}$/.exec(want[want.length - 1] ?? '');
  if (optional) {
    const withParam = matchRoute([...want.slice(0, -1), `{${optional[1]}}`].join('/'), path, options);
    if (withParam) return withParam;
    want = want.slice(0, -1);
  }
  if (have.length < want.length || (options.whole && have.length !== want.length)) return undefined;
  const tail = have.slice(have.length - want.length);
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    const actual = tail[i]!;
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (name !== undefined) {
      try {
        params[name] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (segment !== actual) {
      return undefined;
    }
  }
  return params;
}
