// Answers its input, and logs what it got.
module.exports = (req, res) => {
  console.log('echo-js got', JSON.stringify(req.body));
  res.send(req.body);
};
