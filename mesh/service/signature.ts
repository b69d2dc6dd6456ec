// Reads the parameter names of a method from its source, so kwargs can bind to them as in Python.
// Parsing is done by acorn on the parameter list only; bodies are never evaluated or inspected.
import { parse, tokenizer, type Pattern } from 'acorn';

export interface Parameter {
  name: string;
  /** Has a default value, so it may be left out. */
  optional: boolean;
  /** A rest parameter (...args): takes the remaining positional arguments. */
  rest: boolean;
}

/** The source text between a function's outermost parentheses. */
function parameterListSource(source: string): string {
  let depth = 0;
  let start = -1;
  for (const token of tokenizer(source, { ecmaVersion: 'latest' })) {
    const label = token.type.label;
    if (label === '(') {
      if (depth === 0) start = token.end;
      depth++;
    } else if (label === ')') {
      depth--;
      if (depth === 0) return source.slice(start, token.start);
    } else if (depth === 0 && (label === '{' || label === '=>')) {
      break;
    }
  }
  if (start === -1) {
    throw new Error(`cannot read a parameter list from: ${source.slice(0, 80)}`);
  }
  throw new Error(`unbalanced parameter list in: ${source.slice(0, 80)}`);
}

function describe(pattern: Pattern, index: number): Parameter {
  switch (pattern.type) {
    case 'Identifier':
      return { name: pattern.name, optional: false, rest: false };
    case 'AssignmentPattern':
      return { ...describe(pattern.left, index), optional: true };
    case 'RestElement':
      return { ...describe(pattern.argument, index), rest: true };
    default:
      throw new Error(`parameter ${index + 1} is destructured; @rpc methods take plain named parameters`);
  }
}

/** The parameters of a function or method, in order. */
export function readParameters(fn: (...args: never[]) => unknown): Parameter[] {
  const params = parameterListSource(fn.toString());
  const program = parse(`(function (${params}) {})`, { ecmaVersion: 'latest' });
  const statement = program.body[0];
  if (statement?.type !== 'ExpressionStatement' || statement.expression.type !== 'FunctionExpression') {
    throw new Error('unexpected parse result for a parameter list');
  }
  return statement.expression.params.map(describe);
}
