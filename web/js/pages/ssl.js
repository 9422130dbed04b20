// Placeholder until this page is built.
export { render } from './placeholder.js';
