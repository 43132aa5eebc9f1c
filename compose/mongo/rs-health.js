// rs-health.js: the mongo service's health check (mongosh --quiet --norc rs-health.js), which
// also makes the single-node replica set: the first run on an uninitialised node calls
// rs.initiate once with this node as the only member (HW_MONGO_HOST, default mongo:27017,
// the name the other containers reach it by). Healthy (exit 0) only when this node is the
// writable primary. A replica set, even of one node, is what gives the collector retryable
// writes and change streams, and is the shape a larger deployment grows from
// (docs/operations.md).
const host = (typeof process !== 'undefined' && process.env.HW_MONGO_HOST) || 'mongo:27017';
const rsName = (typeof process !== 'undefined' && process.env.HW_MONGO_RS) || 'rs0';
let status = null;
try {
	status = rs.status();
} catch (e) {
	if (e.codeName === 'NotYetInitialized' || e.code === 94) {
		const r = rs.initiate({_id: rsName, members: [{_id: 0, host: host}]});
		print(`rs-health: rs.initiate(${rsName}, ${host}): ${JSON.stringify(r)}`);
	} else {
		print(`rs-health: rs.status() failed: ${e.message}`);
	}
	quit(1);
}
const hello = db.hello();
if (!hello.isWritablePrimary) {
	print(`rs-health: not primary yet (set ${status.set}, state ${status.myState})`);
	quit(1);
}
quit(0);
