// Artillery's side of the three-step flow (benchmarks/compare/run.sh): the GET's body is captured
// and posted back; each virtual user repeats the flow until LOOP_MS milliseconds after the first
// flow started (measured here, so that Artillery's own start-up is not part of the load window).
const loopMs = Number(process.env.LOOP_MS || 0);
let deadline = 0;

module.exports = {
  // loop whileTrue: go on while the deadline has not passed
  beforeDeadline(context, next) {
    if (!deadline) deadline = Date.now() + loopMs;
    return next(Date.now() < deadline);
  },
  // afterResponse of the GET: keep the body for the POST
  saveBody(requestParams, response, context, ee, next) {
    context.vars.assetBody = response.body;
    return next();
  },
};
