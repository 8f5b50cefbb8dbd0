// Server-sent events: the body is a ReadableStream, so Ferry streams each
// event to the client as it is produced (5 ticks, 100 ms apart).
export default async () => {
  const encoder = new TextEncoder();
  let timer;
  const body = new ReadableStream({
    start(controller) {
      let n = 0;
      timer = setInterval(() => {
        n += 1;
        controller.enqueue(encoder.encode(`data: tick ${n}\n\n`));
        if (n === 5) {
          clearInterval(timer);
          controller.close();
        }
      }, 100);
    },
    cancel() {
      clearInterval(timer);
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
  });
};
