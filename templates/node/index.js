// A Ferry function: the default export gets a web Request and a context
// ({ function, version, requestId, env }) and returns a Response, a string,
// bytes, or an object (sent as JSON).
export default async (request, context) => {
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  return new Response(`Hello, ${name}! This is ${context.function} ${context.version}.\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
};
