// Bun imports any file as a string with `with { type: "text" }`.
declare module "*.sql" {
  const text: string;
  export default text;
}
