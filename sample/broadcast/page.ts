/** The sample page: orders on the public `orders` channel and on the customer's private one. */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>nestjs-events: broadcasting</title>
<script type="importmap">{ "imports": { "socket.io-client": "/socket.io/socket.io.esm.min.js" } }</script>
</head>
<body>
<h1>Orders</h1>
<p id="status">connecting</p>
<h2>Every order (channel "orders")</h2>
<ul id="public"></ul>
<h2>My orders (channel "private-customers.&lt;me&gt;")</h2>
<ul id="private"></ul>
<script type="module">
import { BroadcastClient } from '/broadcast-client.js';

const me = new URLSearchParams(location.search).get('customer') || 'ada';
const client = new BroadcastClient({ auth: { token: me } });
const status = document.getElementById('status');
const show = (list, order) => {
  const li = document.createElement('li');
  li.textContent = order.orderId + ' ' + order.customer + ' ' + order.total;
  document.getElementById(list).append(li);
};
const subscribed = new Set();
const ready = (name) => () => {
  subscribed.add(name);
  if (subscribed.size === 2) {
    status.textContent = 'listening as ' + me;
    document.body.dataset.ready = 'true';
  }
};
client.channel('orders').listen('order.placed', (order) => show('public', order)).subscribed(ready('orders'));
client
  .private('customers.' + me)
  .listen('order.placed', (order) => show('private', order))
  .subscribed(ready('mine'))
  .error((result) => (status.textContent = 'refused: ' + result.error));
</script>
</body>
</html>
`;
