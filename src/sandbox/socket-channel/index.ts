export { RunDirChannel, runDirAddresses, channelSockets, type RunDirChannelOptions } from './run-dir-channel.js';
export { connectInstanceSocket, UNTRUSTED_SOCKET } from './instance-socket.js';
