// Returns an object: Ferry sends it as JSON. The manifest's env reaches the
// handler as context.env.
export default async (request, context) => {
  const url = new URL(request.url);
  return {
    message: `${context.env.GREETING ?? 'Hello'}, ${url.searchParams.get('name') ?? 'world'}!`,
    function: context.function,
    version: context.version,
    requestId: context.requestId,
    method: request.method,
    path: url.pathname,
    body: request.method === 'GET' || request.method === 'HEAD' ? null : await request.text(),
  };
};
