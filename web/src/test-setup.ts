import { afterEach } from 'vitest';
import { cleanup, configure } from '@testing-library/react';

// The CI machine is small: give rendering after a (fake) fetch time to settle.
configure({ asyncUtilTimeout: 5000 });
afterEach(() => cleanup());
