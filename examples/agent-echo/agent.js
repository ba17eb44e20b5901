// A Twilio Media Streams agent that echoes the caller back (npm install ws).
// PORT=8765 node agent.js, then: POST /calls/<id>/stream {"url":"ws://127.0.0.1:8765"}
const { WebSocketServer } = require('ws');
const port = Number(process.env.PORT || 8765);
const wss = new WebSocketServer({ port });
wss.on('connection', (ws) => {
  let streamSid = null;
  let frames = 0;
  const send = (msg) => ws.send(JSON.stringify({ streamSid, ...msg }));
  ws.on('message', (data) => {
    const msg = JSON.parse(data);
    switch (msg.event) {
      case 'start': // callSid, tracks, customParameters, mediaFormat
        streamSid = msg.start.streamSid;
        console.log('start', msg.start.callSid, JSON.stringify(msg.start.mediaFormat));
        break;
      case 'media': // 20 ms of the caller: play it straight back, mark each second
        if (msg.media.track !== 'inbound') break;
        send({ event: 'media', media: { payload: msg.media.payload } });
        if (++frames % 50 === 0) send({ event: 'mark', mark: { name: `second-${frames / 50}` } });
        break;
      case 'mark': // the audio sent before this mark has been heard
        console.log('heard', msg.mark.name);
        break;
      case 'dtmf': // # = barge-in (drop what is queued), * = hang up
        if (msg.dtmf.digit === '#') send({ event: 'clear' });
        if (msg.dtmf.digit === '*') send({ event: 'hangup' });
        break;
      case 'stop':
        console.log('stop', msg.stop.callSid);
        break;
    }
  });
});
wss.on('listening', () => console.log(`agent listening on ${port}`));
