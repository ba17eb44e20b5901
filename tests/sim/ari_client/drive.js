// Drives ari-sim through node's ari-client (the npm package, pinned in
// package-lock.json), the way a third-party ARI application would: the client
// builds its whole API from /ari/api-docs, then every ARI operation our
// service uses is called through it, and every event it relies on is awaited
// through the client's own event objects.
//
//   node drive.js http://127.0.0.1:<port> <user> <password> <app>
//
// Prints "ok <step>" per step and "ari-client: N steps ok" at the end; exits
// 1 on the first failure ("FAIL <step>: <why>"), 2 when the whole run takes
// longer than the deadline. The /_sim control API (the far end) is called with
// node's own http module.
'use strict';

const http = require('http');
const ari = require('ari-client');

const [base, user, pass, app] = process.argv.slice(2);
if (!base || !user || !pass || !app) {
  console.error('usage: node drive.js <base url> <user> <password> <app>');
  process.exit(64);
}

const DEADLINE_MS = 60000;
const EVENT_MS = 10000;
setTimeout(() => {
  console.log('FAIL deadline: the run took longer than ' + DEADLINE_MS + ' ms');
  process.exit(2);
}, DEADLINE_MS).unref();

let steps = 0;
let current = 'start';

// `what` is a function so that the message is only built on failure.
function check(cond, what) {
  if (!cond) throw new Error(what());
}

// JSON of a value, without the client that resource objects point back to.
function show(v) {
  return JSON.stringify(v, (k, x) => (k === '_client' ? undefined : x));
}

// The far end: POST/PUT to the simulator's control API.
function control(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = http.request(base + '/_sim' + path, {
      method,
      headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data)},
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        if (res.statusCode >= 300) {
          reject(new Error(method + ' /_sim' + path + ' -> ' + res.statusCode + ' ' + text));
        } else {
          resolve(text ? JSON.parse(text) : null);
        }
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

// Resolves with [event, object] at the first `type` event that `match`
// accepts, on `emitter` (the client, or one of its resource objects).
function waitFor(emitter, type, match) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(type, onEvent);
      reject(new Error('no ' + type + ' within ' + EVENT_MS + ' ms'));
    }, EVENT_MS);
    function onEvent(event, obj) {
      if (match && !match(event, obj)) return;
      clearTimeout(timer);
      emitter.removeListener(type, onEvent);
      resolve([event, obj]);
    }
    emitter.on(type, onEvent);
  });
}

// Waits for a channel's event through the client's per-object events.
function channelEvent(client, type, channelId) {
  return waitFor(client, type, (event) => (event.channel || event.peer || {}).id === channelId);
}

async function step(name, fn) {
  current = name;
  await fn();
  steps += 1;
  console.log('ok ' + name);
}

async function main() {
  let client;
  await step('connect (resources.json and every api declaration)', async () => {
    client = await ari.connect(base, user, pass);
    for (const r of ['asterisk', 'endpoints', 'channels', 'bridges', 'recordings', 'sounds',
      'playbacks', 'events', 'applications']) {
      check(client[r], () => 'resource ' + r + ' missing');
    }
    check(typeof client.channels.originate === 'function', () => 'channels.originate missing');
    check(typeof client.Channel === 'function', () => 'Channel creator missing');
  });
  await step('events websocket (start)', async () => {
    await client.start(app);
  });
  await step('asterisk getInfo and ping', async () => {
    const info = await client.asterisk.getInfo();
    check(info.system && info.system.version, () => 'no system.version in ' + show(info));
    const pong = await client.asterisk.ping();
    check(pong.ping === 'pong', () => 'ping answered ' + show(pong));
  });
  await step('endpoints list, listByTech, get', async () => {
    const all = await client.endpoints.list();
    check(all.some((e) => e.technology === 'PJSIP' && e.resource === '1001'),
      () => 'PJSIP/1001 not listed');
    const pjsip = await client.endpoints.listByTech({tech: 'PJSIP'});
    check(pjsip.length >= 1, () => 'listByTech empty');
    const one = await client.endpoints.get({tech: 'PJSIP', resource: '1001'});
    check(one.state === 'online', () => 'PJSIP/1001 state ' + one.state);
  });
  await step('sounds and applications', async () => {
    const sounds = await client.sounds.list();
    check(sounds.some((s) => s.id === 'hello-world'), () => 'hello-world not listed');
    const apps = await client.applications.list();
    check(apps.some((a) => a.name === app), () => app + ' not registered');
  });

  // Outbound: originate with our own id; StasisStart arrives once answered.
  const out = client.Channel();
  await step('originate + StasisStart', async () => {
    const started = waitFor(out, 'StasisStart');
    const made = await out.originate({
      endpoint: 'PJSIP/1001', app: app, appArgs: 'outbound,ac-1',
      callerId: '"Alice" <+1 (555) 013-0000>', timeout: 20,
    });
    check(made.id === out.id, () => 'originate returned ' + made.id + ', asked ' + out.id);
    const [event, channel] = await started;
    check(channel && typeof channel.answer === 'function',
      () => 'StasisStart channel is not an object');
    check(event.args.join(',') === 'outbound,ac-1', () => 'args ' + show(event.args));
  });
  await step('channels get and list (dialplan Stasis app_data)', async () => {
    const got = await client.channels.get({channelId: out.id});
    check(got.state === 'Up', () => 'state ' + got.state);
    check(got.dialplan.app_name === 'Stasis', () => 'app_name ' + got.dialplan.app_name);
    check(got.dialplan.app_data === app + ',outbound,ac-1',
      () => 'app_data ' + got.dialplan.app_data);
    const list = await client.channels.list();
    check(list.some((c) => c.id === out.id), () => 'not in the list');
  });
  await step('channel variables set and get', async () => {
    await out.setChannelVar({variable: 'AC_TEST', value: 'forty two'});
    const v = await out.getChannelVar({variable: 'AC_TEST'});
    check(v.value === 'forty two', () => 'read back ' + show(v));
  });
  await step('play + PlaybackFinished', async () => {
    const playback = client.Playback();
    const finished = waitFor(playback, 'PlaybackFinished');
    const p = await out.play({media: 'sound:beep'}, playback);
    check(p.id === playback.id, () => 'playback id ' + p.id);
    const [event] = await finished;
    check(event.playback.state === 'done', () => 'state ' + event.playback.state);
  });
  await step('playback get, control, stop', async () => {
    const playback = client.Playback();
    const started = waitFor(playback, 'PlaybackStarted');
    await out.play({media: ['sound:demo-congrats', 'sound:beep']}, playback);
    await started;
    const got = await client.playbacks.get({playbackId: playback.id});
    check(got.state === 'playing', () => 'state ' + got.state);
    await playback.control({operation: 'pause'});
    await playback.control({operation: 'unpause'});
    const finished = waitFor(playback, 'PlaybackFinished');
    await playback.stop();
    await finished;
  });
  await step('sendDTMF, and DTMF from the far end', async () => {
    await out.sendDTMF({dtmf: '12', between: 50});
    const got = channelEvent(client, 'ChannelDtmfReceived', out.id);
    await control('POST', '/channels/' + out.id + '/dtmf', {digits: '7'});
    const [event] = await got;
    check(event.digit === '7', () => 'digit ' + event.digit);
  });
  const recName = 'ac-rec-' + process.pid;
  await step('record + stop (RecordingStarted, RecordingFinished)', async () => {
    const rec = client.LiveRecording(recName);
    const started = waitFor(rec, 'RecordingStarted');
    await out.record({format: 'wav', ifExists: 'overwrite'}, rec);
    await started;
    const live = await client.recordings.getLive({recordingName: recName});
    check(live.state === 'recording', () => 'live state ' + live.state);
    const finished = waitFor(rec, 'RecordingFinished');
    await rec.stop();
    await finished;
  });
  await step('record + cancel', async () => {
    const rec = client.LiveRecording(recName + '-x');
    const started = waitFor(rec, 'RecordingStarted');
    await out.record({format: 'wav', maxDurationSeconds: 30}, rec);
    await started;
    await rec.cancel();
  });
  await step('stored recordings list, get, file, copy, delete', async () => {
    const list = await client.recordings.listStored();
    check(list.some((r) => r.name === recName), () => recName + ' not stored');
    const one = await client.recordings.getStored({recordingName: recName});
    check(one.format === 'wav', () => 'format ' + one.format);
    const file = await client.recordings.getStoredFile({recordingName: recName});
    check(Buffer.isBuffer(file) && file.slice(0, 4).toString() === 'RIFF',
      () => 'file is not a WAV');
    const copy = await client.recordings.copyStored({
      recordingName: recName, destinationRecordingName: recName + '-copy'});
    check(copy.name === recName + '-copy', () => 'copy ' + show(copy));
    await client.recordings.deleteStored({recordingName: recName + '-copy'});
    await client.recordings.deleteStored({recordingName: recName});
    const after = await client.recordings.listStored();
    check(!after.some((r) => r.name.startsWith(recName)), () => 'not deleted');
  });

  // Inbound: the far end calls in; we ring and answer.
  let inboundId;
  await step('inbound StasisStart, ring, answer', async () => {
    const waitStart = waitFor(client, 'StasisStart', (e) => e.args[0] === 'inbound');
    const made = await control('POST', '/inbound',
      {from: '+1 (555) 013-0000', to: '1001', args: ['inbound', '1001'], app: app});
    inboundId = made.channelId;
    const [event, channel] = await waitStart;
    check(event.channel.id === inboundId, () => 'StasisStart for ' + event.channel.id);
    check(event.channel.caller.number === '+1 (555) 013-0000',
      () => 'caller number ' + event.channel.caller.number);
    await channel.ring();
    const up = channelEvent(client, 'ChannelStateChange', inboundId);
    await channel.answer();
    const [change] = await up;
    check(change.channel.state === 'Up', () => 'state ' + change.channel.state);
  });

  await step('bridges create, subscribe, addChannel, play, record, removeChannel, destroy',
    async () => {
      const bridge = client.Bridge();
      const made = await bridge.create({type: 'mixing', name: 'ac-bridge'});
      check(made.id === bridge.id, () => 'bridge id ' + made.id);
      const sub = await client.applications.subscribe(
        {applicationName: app, eventSource: 'bridge:' + bridge.id});
      check(sub.bridge_ids.includes(bridge.id), () => 'not subscribed: ' + show(sub));
      const entered = Promise.all([
        channelEvent(client, 'ChannelEnteredBridge', out.id),
        channelEvent(client, 'ChannelEnteredBridge', inboundId)]);
      await bridge.addChannel({channel: [out.id, inboundId]});
      await entered;
      const got = await client.bridges.get({bridgeId: bridge.id});
      check(got.channels.length === 2, () => 'channels ' + show(got.channels));
      const list = await client.bridges.list();
      check(list.some((b) => b.id === bridge.id), () => 'bridge not listed');
      const playback = client.Playback();
      const played = waitFor(playback, 'PlaybackFinished');
      await bridge.play({media: 'sound:beep'}, playback);
      await played;
      const rec = client.LiveRecording(recName + '-bridge');
      const recorded = waitFor(rec, 'RecordingFinished');
      await bridge.record({format: 'wav', ifExists: 'overwrite', maxDurationSeconds: 1}, rec);
      await recorded;
      await client.recordings.deleteStored({recordingName: recName + '-bridge'});
      const left = channelEvent(client, 'ChannelLeftBridge', inboundId);
      await bridge.removeChannel({channel: inboundId});
      await left;
      const destroyed = waitFor(bridge, 'BridgeDestroyed');
      await bridge.destroy();
      await destroyed;
      await client.applications.unsubscribe(
        {applicationName: app, eventSource: 'bridge:' + bridge.id}).catch(() => {});
    });

  await step('externalMedia', async () => {
    const media = client.Channel();
    const started = waitFor(media, 'StasisStart');
    const made = await media.externalMedia(
      {app: app, external_host: '127.0.0.1:40000', format: 'ulaw'});
    check(made.id === media.id, () => 'externalMedia id ' + made.id);
    await started;
    const gone = waitFor(media, 'ChannelDestroyed');
    await media.hangup();
    await gone;
  });
  await step('snoopChannel', async () => {
    const snoop = client.Channel();
    const started = waitFor(snoop, 'StasisStart');
    const made = await out.snoopChannel({app: app, appArgs: 'snoop'}, snoop);
    check(made.id === snoop.id, () => 'snoop id ' + made.id);
    await started;
    await snoop.hangup();
  });
  await step('continueInDialplan', async () => {
    const ended = channelEvent(client, 'StasisEnd', inboundId);
    await client.channels.continueInDialplan({channelId: inboundId});
    await ended;
  });
  await step('redirect', async () => {
    const other = client.Channel();
    const started = waitFor(other, 'StasisStart');
    await other.originate({endpoint: 'PJSIP/1002', app: app});
    await started;
    const ended = waitFor(other, 'StasisEnd');
    await other.redirect({endpoint: 'PJSIP/1001'});
    await ended;
  });
  await step('errors are rejections with the ARI message', async () => {
    let error;
    await client.channels.get({channelId: 'no-such-channel'}).catch((e) => { error = e; });
    check(error && /Channel not found/.test(error.message),
      () => 'got ' + (error && error.message));
  });
  await step('far-end hangup: ChannelHangupRequest, StasisEnd, ChannelDestroyed', async () => {
    const other = client.Channel();
    const started = waitFor(other, 'StasisStart');
    await other.originate({endpoint: 'Local/100@test-answer', app: app});
    await started;
    const request = waitFor(other, 'ChannelHangupRequest');
    const destroyed = waitFor(other, 'ChannelDestroyed');
    await control('POST', '/channels/' + other.id + '/hangup', {cause: 16});
    const [req] = await request;
    check(req.cause === 16 && !req.soft,
      () => 'request ' + show({cause: req.cause, soft: req.soft}));
    await destroyed;
  });
  await step('hangup', async () => {
    const destroyed = waitFor(out, 'ChannelDestroyed');
    await out.hangup({reason: 'normal'});
    const [event] = await destroyed;
    check(event.cause === 16, () => 'cause ' + event.cause);
  });
  client.stop();
  console.log('ari-client: ' + steps + ' steps ok');
  process.exit(0);
}

main().catch((err) => {
  console.log('FAIL ' + current + ': ' + (err && err.stack ? err.stack : err));
  process.exit(1);
});
process.on('uncaughtException', (err) => {
  console.log('FAIL ' + current + ' (uncaught): ' + (err && err.stack ? err.stack : err));
  process.exit(1);
});
