export { coapFrontEnd } from './coap-front-end.js';
