// Vitest setup for the component tests: `findBy…` and `waitFor` wait up to 10 s (the library's
// default is 1 s, short for a render on a busy 2-core machine; a failing wait still fails).
import { configure } from '@testing-library/react';

configure({ asyncUtilTimeout: 10_000 });
