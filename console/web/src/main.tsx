/** Entry point of the bundle (console/web/build.ts): mounts the app into index.html's #app. */
import { render } from 'preact';
import { App } from './app.tsx';
import './styles.css';

render(<App />, document.getElementById('app')!);
