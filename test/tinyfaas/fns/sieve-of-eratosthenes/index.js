// Counts the primes up to 10000 with the sieve of Eratosthenes.
module.exports = (req, res) => {
  const limit = 10000;
  const composite = new Uint8Array(limit + 1);
  let count = 0;
  for (let n = 2; n <= limit; n++) {
    if (composite[n]) continue;
    count++;
    for (let m = n * n; m <= limit; m += n) composite[m] = 1;
  }
  const answer = `Found ${count} primes under ${limit}`;
  console.log(answer);
  res.send(`${answer}\n`);
};
