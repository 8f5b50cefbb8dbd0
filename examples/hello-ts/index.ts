// A TypeScript handler. Types are local: a Ferry function needs no imports.
interface Context {
  function: string;
  version: string;
  requestId: string;
  env: Record<string, string>;
}

interface Greeting {
  hello: string;
  served: string;
}

export default async (request: Request, context: Context): Promise<Response> => {
  const name: string = new URL(request.url).searchParams.get('name') ?? 'world';
  const greeting: Greeting = { hello: name, served: `${context.function}@${context.version}` };
  return Response.json(greeting);
};
