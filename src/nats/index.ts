export { openNats, isNatsUrl, parseNatsServers, type NatsConnectOptions, type NatsHandle } from './connection.js';
