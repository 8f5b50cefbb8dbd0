// Answers the request headers as JSON.
module.exports = (req, res) => res.send(req.headers);
