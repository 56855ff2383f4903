/** The nestbox web console: EC2's nested-virtualization flows in the browser. */
import { render } from 'preact';
import { App } from './App.js';
import './styles.css';

render(<App />, document.getElementById('root')!);
