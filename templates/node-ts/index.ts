// A Ferry function in TypeScript: the default export gets a web Request and a
// context, and returns a Response (or a string, bytes, or an object sent as JSON).
interface Context {
  function: string;
  version: string;
  requestId: string;
  env: Record<string, string>;
}

export default async (request: Request, context: Context): Promise<Response> => {
  const name: string = new URL(request.url).searchParams.get('name') ?? 'world';
  return new Response(`Hello, ${name}! This is ${context.function} ${context.version}.\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
};
