// Preloaded into server-everything (node -r): it calls listen(PORT) with no host, which binds every
// interface; a test server must listen on 127.0.0.1 only, whatever it asks for.
"use strict";
const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] !== null && typeof args[0] === "object") {
    args[0] = { ...args[0], host: "127.0.0.1" };
  } else if (typeof args[0] === "number" || typeof args[0] === "string") {
    const rest = args.slice(1);
    if (typeof rest[0] === "string") rest.shift();
    args = [args[0], "127.0.0.1", ...rest];
  }
  return listen.apply(this, args);
};
