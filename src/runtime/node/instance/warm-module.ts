/**
 * The stand-in function a pooled node shim loads and calls while it warms up (warm-up.ts): it
 * touches what most handlers touch (the request, its body, headers) and returns each kind of
 * answer once, so those paths are compiled before a real function arrives.
 */
export default async (request: Request): Promise<unknown> => {
  const path = new URL(request.url).pathname;
  if (path === '/json') return { method: request.method, body: await request.text(), type: request.headers.get('content-type') };
  if (path === '/response') return new Response('warm', { status: 201, headers: { 'x-warm': '1' } });
  return 'warm';
};
