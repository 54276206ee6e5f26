// The NaaS topology page (served by naas.api.topology at /topology/).
//
// Every few seconds it reads, from the Networking API of the server that
// served it, the caller's networks, subnets, routers and ports and, when
// the server lists the port-statistics extension, port and network
// statistics; then it redraws one SVG:
//   - routers on top, a line from each router interface down to its network;
//   - networks as horizontal bands (name, subnets, traffic chart);
//   - hosts below (binding:host_id, or the host of the port's statistics),
//     each holding its devices (VMs by device_id, DHCP, ...) and their
//     ports, a line from each port up to its network.
// Port and router status are colours; traffic is a sparkline of the rx/tx
// byte rates (rx: received by the VM) kept in this tab since it opened.
//
// Auth is the API's: with Keystone (the API answers 401) the page asks for
// a token, keeps it in sessionStorage (this tab only) and sends it as
// X-Auth-Token; with noauth it sends X-Project-Id if the user names a
// project (none: the noauth administrator, who sees every project).
// Elements carry data-* attributes (ids, status, counters) for tests and
// for anyone scripting the page.  Text is set as text, never as markup.

const params = new URLSearchParams(location.search);
const INTERVAL_MS = Math.max(1, Number(params.get('interval')) || 3) * 1000;
const HISTORY = 40;  // rate samples kept per chart
const MIN_SLOTS = 12;  // a chart's width holds at least this many samples
const TOKEN_KEY = 'naas-topology-token';
const PROJECT_KEY = 'naas-topology-project';
const STATISTICS_ALIAS = 'port-statistics';
const API = new URL('../v2.0/', document.baseURI);
const SVG_NS = 'http://www.w3.org/2000/svg';

// Geometry (SVG user units = CSS pixels).
const MARGIN = 16;
const LABEL_W = 300;        // the networks' label column
const ROUTER_W = 190;
const ROUTER_H = 48;
const ROUTER_GAP = 40;
const BAND_H = 70;
const BAND_GAP = 14;
const PORT_W = 170;
const PORT_H = 92;          // with a chart; 52 without
const PORT_H_BARE = 52;
const DEVICE_PAD = 8;
const DEVICE_HEAD = 24;
const DEVICE_GAP = 10;
const HOST_PAD = 12;
const HOST_HEAD = 28;
const HOST_GAP = 24;
const SPARK_H = 24;

const history = new Map();  // statistics id -> {collectedAt, last, points: [[rx, tx]]}
let mode = sessionStorage.getItem(TOKEN_KEY) ? 'keystone' : 'unknown';
let timer = null;
let generation = 0;  // of the latest poll: an older one still answering is dropped

class Unauthorized extends Error {}

// -- the API

async function get(path) {
  const headers = {Accept: 'application/json'};
  const token = sessionStorage.getItem(TOKEN_KEY);
  const project = sessionStorage.getItem(PROJECT_KEY);
  if (token) {
    headers['X-Auth-Token'] = token;
  } else if (project) {
    headers['X-Project-Id'] = project;
  }
  const response = await fetch(new URL(path, API), {headers, cache: 'no-store'});
  if (response.status === 401) {
    throw new Unauthorized(response.headers.get('WWW-Authenticate') || '');
  }
  if (!response.ok) {
    throw new Error(`GET ${path}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  }
  return response.json();
}

async function list(collection) {
  return (await get(collection))[collection.replace('-', '_')];
}

async function poll() {
  clearTimeout(timer);
  const mine = ++generation;
  try {
    const aliases = new Set((await get('extensions')).extensions.map(e => e.alias));
    const statistics = aliases.has(STATISTICS_ALIAS);
    const [networks, subnets, routers, ports, portStats, networkStats] = await Promise.all([
      list('networks'), list('subnets'), aliases.has('router') ? list('routers') : [],
      list('ports'), statistics ? list('port-statistics') : [],
      statistics ? list('network-statistics') : []]);
    if (mine !== generation) {
      return;  // credentials changed meanwhile: the newer poll draws
    }
    if (mode === 'unknown') {
      mode = 'noauth';
    }
    showCredentials(false);
    for (const stat of portStats.concat(networkStats)) {
      record(stat);
    }
    render({networks, subnets, routers, ports, portStats, networkStats, statistics});
    showNote(statistics ? '' : 'Traffic charts are off: this server does not list the ' +
             `"${STATISTICS_ALIAS}" extension (its statistics service plugin is not loaded).`);
    document.body.dataset.statistics = statistics ? 'present' : 'absent';
    setState('ok', `updated ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (mine !== generation) {
      return;
    }
    if (error instanceof Unauthorized) {
      // Nothing of what an earlier token showed stays on the page.
      mode = 'keystone';
      sessionStorage.removeItem(TOKEN_KEY);
      history.clear();
      document.getElementById('topology').replaceChildren();
      showNote('');
      setState('signed-out', 'a Keystone token is needed');
      showCredentials(true, error.message);
      return;  // until a token is given
    }
    setState('error', error.message);
  }
  timer = setTimeout(poll, INTERVAL_MS);
}

// -- the header: state, credentials, note

function setState(state, text) {
  document.body.dataset.state = state;
  document.getElementById('state').textContent = text;
}

function showNote(text) {
  const note = document.getElementById('note');
  note.textContent = text;
  note.hidden = !text;
}

function showCredentials(asked, authenticate) {
  const form = document.getElementById('credentials');
  const input = document.getElementById('credential');
  const hint = document.getElementById('hint');
  form.hidden = mode === 'unknown';
  document.getElementById('forget').hidden = !sessionStorage.getItem(
    mode === 'keystone' ? TOKEN_KEY : PROJECT_KEY);
  if (mode === 'keystone') {
    document.getElementById('credential-label').textContent = 'Keystone token';
    input.type = 'password';
    input.placeholder = 'openstack token issue -f value -c id';
  } else {
    document.getElementById('credential-label').textContent = 'Project';
    input.type = 'text';
    input.placeholder = 'all (noauth administrator)';
    if (document.activeElement !== input) {
      input.value = sessionStorage.getItem(PROJECT_KEY) || '';
    }
  }
  hint.hidden = !asked;
  if (asked) {
    const uri = /uri="([^"]*)"/.exec(authenticate || '');
    hint.textContent = 'This server uses Keystone: paste a token ' +
      '(openstack token issue -f value -c id). It is kept in this tab only ' +
      '(sessionStorage) and sent as X-Auth-Token.' +
      (uri ? ` Keystone: ${uri[1]}` : '');
    input.focus();
  }
}

function useCredentials(event) {
  event.preventDefault();
  const value = document.getElementById('credential').value.trim();
  const key = mode === 'keystone' ? TOKEN_KEY : PROJECT_KEY;
  if (value) {
    sessionStorage.setItem(key, value);
  } else {
    sessionStorage.removeItem(key);
  }
  if (mode === 'keystone') {
    document.getElementById('credential').value = '';
  }
  history.clear();
  setState('loading', 'loading…');
  poll();
}

function forgetCredentials() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PROJECT_KEY);
  document.getElementById('credential').value = '';
  history.clear();
  setState('loading', 'loading…');
  poll();
}

// -- traffic history

function record(stat) {
  if (!stat.collected_at) {
    return;
  }
  const entry = history.get(stat.id) || {collectedAt: null, last: null, points: []};
  if (entry.collectedAt === stat.collected_at) {
    return;
  }
  let rx = stat.rx_bytes_rate;
  let tx = stat.tx_bytes_rate;
  if ((rx == null || tx == null) && entry.last) {
    const seconds = (Date.parse(stat.collected_at) - Date.parse(entry.collectedAt)) / 1000;
    rx = Math.max(0, (stat.rx_bytes - entry.last.rx_bytes) / seconds);
    tx = Math.max(0, (stat.tx_bytes - entry.last.tx_bytes) / seconds);
  }
  if (rx != null && tx != null) {
    entry.points.push([rx, tx]);
    entry.points.splice(0, entry.points.length - HISTORY);
  }
  entry.collectedAt = stat.collected_at;
  entry.last = stat;
  history.set(stat.id, entry);
}

function bytes(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i += 1;
  }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

// -- drawing

function el(parent, name, attrs = {}, text = undefined) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) {
      node.setAttribute(key, value);
    }
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  parent.appendChild(node);
  return node;
}

function clip(text, length) {
  return text.length > length ? text.slice(0, length - 1) + '…' : text;
}

function short(id) {
  return id ? id.slice(0, 8) : '';
}

function statusOf(status) {
  return ['ACTIVE', 'DOWN', 'BUILD', 'ERROR'].includes(status) ? status : 'UNKNOWN';
}

// The data-* attributes of a statistics object (none before its first sample).
function trafficAttrs(stat) {
  if (!stat || !stat.collected_at) {
    return {};
  }
  return {
    'data-rx-bytes': stat.rx_bytes, 'data-tx-bytes': stat.tx_bytes,
    'data-rx-packets': stat.rx_packets, 'data-tx-packets': stat.tx_packets,
    'data-rx-rate': stat.rx_bytes_rate, 'data-tx-rate': stat.tx_bytes_rate,
    'data-collected-at': stat.collected_at,
  };
}

// A chart of the rx/tx rates of statistics ``stat`` at (x, y), and a line
// of text under it; nothing when there are no statistics.
function traffic(parent, stat, x, y, width) {
  if (!stat) {
    return;
  }
  const points = (history.get(stat.id) || {points: []}).points;
  const g = el(parent, 'g', {class: 'traffic', transform: `translate(${x},${y})`,
                             'data-samples': points.length});
  el(g, 'rect', {class: 'chart', width, height: SPARK_H, rx: 3});
  const top = Math.max(1, ...points.flat());
  const step = width / (Math.max(points.length, MIN_SLOTS) - 1);
  ['rx', 'tx'].forEach((direction, index) => {
    if (points.length > 1) {
      const coords = points.map((point, i) => {
        const px = width - (points.length - 1 - i) * step;
        const py = SPARK_H - 2 - (point[index] / top) * (SPARK_H - 4);
        return `${px.toFixed(1)},${py.toFixed(1)}`;
      });
      el(g, 'polyline', {class: direction, points: coords.join(' ')});
    }
  });
  const rate = value => (value == null ? '–' : bytes(value) + '/s');
  el(g, 'text', {class: 'rate', x: 0, y: SPARK_H + 12},
     stat.collected_at ? `rx ${rate(stat.rx_bytes_rate)}  tx ${rate(stat.tx_bytes_rate)}`
       : 'no sample yet');
  el(g, 'title', {}, stat.collected_at
    ? `received ${bytes(stat.rx_bytes)} (${stat.rx_packets} packets), ` +
      `sent ${bytes(stat.tx_bytes)} (${stat.tx_packets} packets) at ${stat.collected_at}`
    : 'no sample yet');
}

function deviceName(port) {
  const owner = port.device_owner || '';
  if (owner === 'network:dhcp') {
    return 'DHCP';
  }
  if (owner.startsWith('network:router')) {
    return `router ${short(port.device_id)}`;
  }
  if (owner.startsWith('compute:')) {
    return `VM ${short(port.device_id)}`;
  }
  return port.device_id ? `${owner || 'device'} ${short(port.device_id)}` : 'no device';
}

function byName(a, b) {
  return (a.name || '').localeCompare(b.name || '') || a.id.localeCompare(b.id);
}

// Hosts -> devices -> ports, for every port that is not a visible router's.
function groupByHost(ports, routerIds, portStat) {
  const hosts = new Map();
  for (const port of ports) {
    if (routerIds.has(port.device_id)) {
      continue;
    }
    const host = port['binding:host_id'] || (portStat.get(port.id) || {}).host || '';
    const device = port.device_id || `port:${port.id}`;
    if (!hosts.has(host)) {
      hosts.set(host, new Map());
    }
    const devices = hosts.get(host);
    if (!devices.has(device)) {
      devices.set(device, []);
    }
    devices.get(device).push(port);
  }
  return [...hosts.entries()].sort(([a], [b]) => (!a) - (!b) || a.localeCompare(b));
}

function render(model) {
  const svg = document.getElementById('topology');
  const drawing = document.createDocumentFragment();
  const networks = [...model.networks].sort(byName);
  const routers = [...model.routers].sort(byName);
  const routerIds = new Set(routers.map(r => r.id));
  const portStat = new Map(model.portStats.map(s => [s.port_id, s]));
  const networkStat = new Map(model.networkStats.map(s => [s.network_id, s]));
  const subnetsOf = new Map(networks.map(n => [n.id, []]));
  for (const subnet of model.subnets) {
    (subnetsOf.get(subnet.network_id) || []).push(subnet);
  }
  const hosts = groupByHost(model.ports, routerIds, portStat);
  const busX = MARGIN + LABEL_W;

  // Where everything goes.
  const routersY = MARGIN;
  const bandsY = routers.length ? routersY + ROUTER_H + 44 : MARGIN;
  const band = new Map(networks.map((n, i) => [n.id, {
    y: bandsY + i * (BAND_H + BAND_GAP), hue: (200 + i * 67) % 360}]));
  const hostsY = bandsY + networks.length * (BAND_H + BAND_GAP) + 30;
  let x = busX;
  const hostBoxes = hosts.map(([host, devices]) => {
    const box = {host, x, devices: []};
    x += HOST_PAD;
    for (const [device, ports] of [...devices.entries()].sort()) {
      const deviceBox = {device, x, ports: []};
      x += DEVICE_PAD;
      for (const port of ports) {
        deviceBox.ports.push({port, x});
        x += PORT_W;
      }
      x += DEVICE_PAD;
      deviceBox.width = x - deviceBox.x;
      box.devices.push(deviceBox);
      x += DEVICE_GAP;
    }
    x += HOST_PAD - DEVICE_GAP;
    box.width = x - box.x;
    x += HOST_GAP;
    return box;
  });
  const routersEnd = busX + routers.length * (ROUTER_W + ROUTER_GAP);
  // As wide as the drawing, or as the window if wider (no scroll bar then).
  const width = Math.max(x - HOST_GAP + MARGIN, routersEnd - ROUTER_GAP + MARGIN,
                         svg.parentElement.clientWidth);
  const deviceH = DEVICE_HEAD + (model.statistics ? PORT_H : PORT_H_BARE) + DEVICE_PAD;
  const height = (hosts.length ? hostsY + HOST_HEAD + deviceH + HOST_PAD : hostsY) + MARGIN;
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);

  const layers = {};
  for (const name of ['bands', 'links', 'junctions', 'routers', 'hosts']) {
    layers[name] = el(drawing, 'g', {class: name});
  }
  if (!networks.length) {
    el(layers.bands, 'text', {class: 'empty', x: MARGIN, y: MARGIN + 20},
       'No network is visible to this project.');
  }

  // Networks: a band each, its label column on the left.
  for (const network of networks) {
    const {y, hue} = band.get(network.id);
    const stat = networkStat.get(network.id);
    const g = el(layers.bands, 'g', Object.assign({
      class: 'network', 'data-network-id': network.id,
      'data-status': network.status}, trafficAttrs(stat)));
    el(g, 'rect', {class: 'band', x: MARGIN, y, width: width - 2 * MARGIN, height: BAND_H,
                   rx: 6, fill: `hsl(${hue},70%,95%)`, stroke: `hsl(${hue},45%,70%)`});
    el(g, 'circle', {class: `status ${statusOf(network.status)}`, cx: MARGIN + 12,
                     cy: y + 16, r: 5});
    const tags = [network.shared ? 'shared' : '', network['router:external'] ? 'external' : '']
      .filter(Boolean).join(', ');
    el(g, 'text', {class: 'name', x: MARGIN + 24, y: y + 20},
       clip(network.name || short(network.id), 32) + (tags ? ` (${tags})` : ''));
    // Subnets and the port count on the left, the chart on the right.
    const subnets = el(g, 'text', {class: 'subnets', x: MARGIN + 24, y: y + 40});
    const networkSubnets = subnetsOf.get(network.id) || [];
    networkSubnets.forEach((subnet, i) => {
      // Two on the line (the rest: a count; each still has its element).
      el(subnets, 'tspan', {'data-subnet-id': subnet.id},
         i < 2 ? (i ? ', ' : '') + subnet.cidr : '');
    });
    if (networkSubnets.length > 2) {
      el(subnets, 'tspan', {}, ` +${networkSubnets.length - 2}`);
    }
    if (stat) {
      el(g, 'text', {class: 'rate', x: MARGIN + 24, y: y + 56},
         `${stat.port_count} ports`);
    }
    el(g, 'title', {}, `network ${network.id} ${network.status}`);
    traffic(g, stat, MARGIN + LABEL_W - 140, y + 28, 120);
  }

  // A junction where a line meets a network: above the band (routers) or
  // below it (ports); lines take the network's colour.
  function link(fromX, fromY, port, below, attrs) {
    const target = band.get(port.network_id);
    if (!target) {
      return;  // a network the caller does not see
    }
    const toY = below ? target.y + BAND_H : target.y;
    el(layers.links, 'line', Object.assign({
      class: 'link', x1: fromX, y1: fromY, x2: fromX, y2: toY,
      stroke: `hsl(${target.hue},50%,42%)`, 'data-port-id': port.id,
      'data-network-id': port.network_id}, attrs));
    el(layers.junctions, 'circle', {class: 'junction', cx: fromX, cy: toY, r: 3.5,
                                    fill: `hsl(${target.hue},50%,42%)`});
  }

  // Routers: a box each, a line per interface (or gateway) port.
  routers.forEach((router, i) => {
    const rx = busX + i * (ROUTER_W + ROUTER_GAP);
    const g = el(layers.routers, 'g', {class: 'router', 'data-router-id': router.id,
                                       'data-status': router.status});
    el(g, 'rect', {class: `box ${statusOf(router.status)}`, x: rx, y: routersY,
                   width: ROUTER_W, height: ROUTER_H, rx: 8});
    el(g, 'circle', {class: `status ${statusOf(router.status)}`, cx: rx + 14,
                     cy: routersY + 18, r: 5});
    el(g, 'text', {class: 'name', x: rx + 26, y: routersY + 22},
       clip(`⇄ ${router.name || 'router'}`, 22));
    el(g, 'text', {class: 'detail', x: rx + 26, y: routersY + 38},
       `router ${short(router.id)} ${router.status}`);
    el(g, 'title', {}, `router ${router.id} ${router.status}`);
    const ports = model.ports.filter(p => p.device_id === router.id)
      .sort((a, b) => a.network_id.localeCompare(b.network_id));
    ports.forEach((port, j) => {
      const px = rx + (j + 1) * ROUTER_W / (ports.length + 1);
      link(px, routersY + ROUTER_H, port, false, {
        'data-router-id': router.id, 'data-status': port.status,
        class: `link router-link ${statusOf(port.status)}`});
      el(layers.junctions, 'circle', {class: `status ${statusOf(port.status)}`, cx: px,
                                      cy: routersY + ROUTER_H, r: 4});
    });
  });

  // Hosts, their devices and ports.
  for (const box of hostBoxes) {
    const g = el(layers.hosts, 'g', {class: 'host', 'data-host': box.host});
    el(g, 'rect', {class: 'box', x: box.x, y: hostsY, width: box.width,
                   height: HOST_HEAD + deviceH + HOST_PAD, rx: 8});
    el(g, 'text', {class: 'name', x: box.x + HOST_PAD, y: hostsY + 19},
       box.host ? `▣ ${box.host}` : '▣ host unknown');
    if (!box.host) {
      el(g, 'title', {}, 'ports not bound to a host, or whose host this project may not see');
    }
    const deviceY = hostsY + HOST_HEAD;
    for (const deviceBox of box.devices) {
      const first = deviceBox.ports[0].port;
      const d = el(g, 'g', {class: 'device', 'data-device-id': first.device_id || '',
                            'data-device-owner': first.device_owner || ''});
      el(d, 'rect', {class: 'box', x: deviceBox.x, y: deviceY, width: deviceBox.width,
                     height: deviceH, rx: 6});
      el(d, 'text', {class: 'name', x: deviceBox.x + DEVICE_PAD, y: deviceY + 17},
         deviceName(first));
      el(d, 'title', {}, `${first.device_owner || 'device'} ${first.device_id || ''}`);
      for (const {port, x: px} of deviceBox.ports) {
        const stat = portStat.get(port.id);
        const cx = px + PORT_W / 2;
        link(cx, deviceY, port, true, {class: 'link port-link'});
        const p = el(d, 'g', Object.assign({
          class: 'port', 'data-port-id': port.id, 'data-network-id': port.network_id,
          'data-device-id': port.device_id || '', 'data-status': port.status},
          trafficAttrs(stat)));
        el(p, 'circle', {class: `status ${statusOf(port.status)}`, cx, cy: deviceY, r: 6});
        const addresses = (port.fixed_ips || []).map(ip => ip.ip_address).join(', ');
        el(p, 'text', {class: 'address', x: px + 10, y: deviceY + DEVICE_HEAD + 14},
           clip(addresses || 'no address', 24));
        el(p, 'text', {class: 'detail', x: px + 10, y: deviceY + DEVICE_HEAD + 29},
           clip(`${port.name || 'port ' + short(port.id)} ${port.status}`, 26));
        el(p, 'title', {}, `port ${port.id} ${port.status} ${port.mac_address}`);
        traffic(p, stat, px + 10, deviceY + DEVICE_HEAD + 38, PORT_W - 20);
      }
    }
  }
  svg.replaceChildren(drawing);
}

document.getElementById('credentials').addEventListener('submit', useCredentials);
document.getElementById('forget').addEventListener('click', forgetCredentials);
poll();
