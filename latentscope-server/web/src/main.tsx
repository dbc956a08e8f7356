import './hook';
import './boot';
import { render } from 'preact';
import { App } from './ui/App';
import './style.css';
import './pages.css';
import './compare.css';

render(<App />, document.getElementById('app')!);
