export type { FrontEnd, FrontEndContext, FrontEndFactory } from './frontend.js';
