import { useEffect, useState } from 'preact/hooks';
import { parseRoute } from '../route';
import { Home } from './Home';
import { Explore } from './Explore';

export function App() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  const r = parseRoute(path);
  if (r) return <Explore ds={r.ds} initialScope={r.scope} />;
  return <Home />;
}
